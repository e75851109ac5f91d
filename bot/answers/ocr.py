"""Read the text in a screenshot, offline, in worker processes off the event loop.

The recogniser is RapidOCR (PP-OCRv4 models shipped inside the `rapidocr-onnxruntime` wheel, the
optional `ocr` extra): no model is downloaded at run time. Without the extra, `available` is False
and residents are asked to paste the text instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bot.answers import images
from bot.settings import env_float, env_int

log = logging.getLogger(__name__)

OCR_PACKAGE = "rapidocr_onnxruntime"
_engine: Any = None  # one recogniser per worker process, loaded when the worker starts


class OcrBusy(Exception):
    """Every worker is busy and the queue is full, or the read took too long."""


class OcrUnavailable(Exception):
    """No recogniser is installed."""


class TextReader:
    """Reads screenshots in `workers` processes, with at most `queue` images waiting per worker."""

    def __init__(self, workers: int = 1, queue: int = 4, timeout: float = 30.0) -> None:
        self.available = importlib.util.find_spec(OCR_PACKAGE) is not None
        self._workers = workers
        self._limit = workers * (queue + 1)
        self._timeout = timeout
        self._pending = 0
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TextReader:
        """Read FANZHA_OCR_WORKERS, FANZHA_OCR_QUEUE and FANZHA_OCR_TIMEOUT."""
        return cls(
            workers=env_int(env, "FANZHA_OCR_WORKERS", 1, 1, 64),
            queue=env_int(env, "FANZHA_OCR_QUEUE", 4, 0, 1000),
            timeout=env_float(env, "FANZHA_OCR_TIMEOUT", 30.0, 1.0, 600.0),
        )

    async def read(self, data: bytes) -> str:
        """Return the text in the image `data`, top to bottom, one line per text line.

        Raises ImageRefused for a bad image, OcrUnavailable, or OcrBusy under load.
        """
        images.sniff(data)  # cheap refusals stay on the loop; decoding runs in the worker
        if not self.available:
            raise OcrUnavailable
        if self._pending >= self._limit:
            raise OcrBusy
        self._pending += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor(), read_text, data)
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError as exc:
            log.warning("ocr took longer than %.0f s", self._timeout)
            raise OcrBusy from exc
        finally:
            self._pending -= 1

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the service has threads and sockets a fork would copy.
            self._pool = ProcessPoolExecutor(
                self._workers, multiprocessing.get_context("spawn"), initializer=_load_engine
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _load_engine() -> None:
    global _engine
    from rapidocr_onnxruntime import RapidOCR

    _engine = RapidOCR()


def read_text(data: bytes) -> str:
    """Decode `data` safely and return its text lines (runs in a worker process)."""
    import numpy

    if _engine is None:
        _load_engine()
    image = images.decode(data)
    found, _ = _engine(numpy.asarray(image)[:, :, ::-1])  # the recogniser wants BGR
    lines = sorted(found or [], key=lambda row: (round(row[0][0][1] / 12), row[0][0][0]))
    return "\n".join(str(row[1]) for row in lines)
