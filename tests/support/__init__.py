"""Shared test fakes (WeCom, 公众号 and robot servers on loopback) and helpers for every folder."""
