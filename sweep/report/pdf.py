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


NO_CJK_FONT = (
    "未找到中文字体，PDF 中的汉字会显示为方框；请安装 fonts-noto-cjk（Debian: apt-get install fonts-noto-cjk）或不加 --pdf "
    "(no CJK font found: the PDF's Chinese would print as empty boxes; install fonts-noto-cjk, or omit --pdf)"
)


def cjk_fonts() -> list[str]:
    """The font families fontconfig offers for Chinese, as Chromium will find them; empty when there are none."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30, check=False)
    return sorted({line.strip() for line in found.stdout.splitlines() if line.strip()})


def printer() -> str:
    """The browser that prints the PDF, once it is known the Chinese will print; else a refusal that says what to install."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise InvalidInput("pdf", "未找到 Chromium，无法生成 PDF (no Chromium found to print the PDF; install it or omit --pdf)")
    if not cjk_fonts():
        raise InvalidInput("pdf", NO_CJK_FONT)
    return browser


def html_to_pdf(html: Path, pdf: Path) -> Path:
    """Print the report; refuses, rather than print Chinese as empty boxes, when no CJK font is installed."""
    browser = printer()
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--print-to-pdf={pdf}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise InvalidInput("pdf", "Chromium 未能生成 PDF (Chromium did not write the PDF)")
    return pdf
