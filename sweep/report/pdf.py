"""Print the HTML report to PDF with the system's headless Chromium: the same engine that shows it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sweep.errors import InvalidInput

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
]


def html_to_pdf(html: Path, pdf: Path) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise InvalidInput("pdf", "未找到 Chromium，无法生成 PDF (no Chromium found to print the PDF; install it or omit --pdf)")
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--print-to-pdf={pdf}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise InvalidInput("pdf", "Chromium 未能生成 PDF (Chromium did not write the PDF)")
    return pdf
