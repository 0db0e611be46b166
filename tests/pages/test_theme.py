"""The theme's colours, checked from the stylesheet itself: WCAG contrast in both themes, and
colours only ever used as hsl(var(--color-…))."""

import colorsys
import re
from pathlib import Path

import pytest

from tests.support import REPO

CSS = (Path(REPO) / "static" / "css" / "mana.css").read_text()
PAIRS = [
    ("foreground", "background"),
    ("foreground", "card"),
    ("muted", "background"),
    ("muted", "card"),
    ("primary", "background"),
    ("primary", "card"),
    ("primary-foreground", "primary"),
    ("error", "background"),
    ("error", "card"),
    ("success", "background"),
    ("success", "card"),
]


def theme(selector: str) -> dict[str, tuple[float, float, float]]:
    block = CSS[CSS.index(selector) :]
    block = block[: block.index("}")]
    colours = {}
    for name, h, s, lightness in re.findall(r"--color-([a-z-]+):\s*([\d.]+)\s+([\d.]+)%\s+([\d.]+)%", block):
        colours[name] = colorsys.hls_to_rgb(float(h) / 360, float(lightness) / 100, float(s) / 100)
    return colours


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("selector", [":root {", ':root[data-theme="dark"] {'])
@pytest.mark.parametrize(("text", "surface"), PAIRS)
def test_text_contrast_is_at_least_4_5(selector: str, text: str, surface: str) -> None:
    colours = theme(selector)
    assert contrast(colours[text], colours[surface]) >= 4.5


def test_the_dark_theme_is_the_same_for_the_system_and_the_toggle() -> None:
    assert theme(':root:not([data-theme="light"]) {') == theme(':root[data-theme="dark"] {')


def test_colours_are_only_used_through_hsl() -> None:
    bare = re.findall(r"(?<!hsl\()var\(--color-[a-z-]+\)", CSS)
    assert bare == []


def test_no_template_carries_inline_script_or_style() -> None:
    for template in (Path(REPO) / "templates" / "pages").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "style=" not in text and "<style" not in text, template.name
