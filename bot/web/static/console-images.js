// Upload the chosen picture as the raw body (CSRF token in a header), then show the page again.
(() => {
  const input = document.getElementById("image-upload");
  const error = document.getElementById("image-error");
  if (!input) return;
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    error.hidden = true;
    input.disabled = true;
    try {
      const response = await fetch(input.dataset.action, {
        method: "POST",
        headers: { "X-CSRF-Token": input.dataset.token, "Content-Type": file.type || "application/octet-stream", Accept: "application/json" },
        body: file,
      });
      if (response.ok) { window.location.reload(); return; }
      const body = await response.json().catch(() => ({}));
      error.textContent = body.error || "上传失败，请重试。";
    } catch (_) {
      error.textContent = "网络出错了，图片没有上传。";
    }
    error.hidden = false;
    input.disabled = false;
  });
})();
