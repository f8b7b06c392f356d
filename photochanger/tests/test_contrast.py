"""WCAG 2.2 contrast of the stylesheet's colours against the surfaces they really sit on.

Text needs 4.5:1 (1.4.3); outlines that show a control or its state (field borders, switch
tracks, the focus ring, chart bars) need 3:1 (1.4.11). Translucent colours are composited over
what lies beneath: a frosted panel is its white veil over each tone of the page behind it (the
blur averages those tones, it does not lighten them), a field over the panel it sits in.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

STYLESHEET = Path(settings.BASE_DIR) / "static/css/site.css"
TEXT, GRAPHIC = 4.5, 3.0

RGB = tuple[float, float, float]
Layers = tuple[str, ...]  # colour variables, bottom to top


def _over(surfaces: list[Layers], *layers: str) -> list[Layers]:
    return [surface + layers for surface in surfaces]


# The gradient's stops; the slot page's lights one at a time at full strength (their visible
# cores never overlap); the login page's three waves stacked where they all overlap.
PAGE = [("--page-1",), ("--page-2",), ("--page-3",)]
SLOT_PAGE = PAGE + _over(PAGE, "--breath-1") + _over(PAGE, "--breath-2") + _over(PAGE, "--breath-3")
WAVES = _over(PAGE, "--wave-3", "--wave-2", "--wave-1")
PANEL = _over(SLOT_PAGE + WAVES, "--glass")
# The sticky header and the toasts also pass over content; the darkest of it is a button.
UNDER_GLASS = [*SLOT_PAGE, ("--accent",)]
HEADER = _over(UNDER_GLASS, "--header-glass")
WHITE = [("--surface",)]  # cards, the dialog, thumbnails, secondary buttons
FIELD = _over(PANEL + PAGE + WHITE, "--field-bg")
INFO_BOX = _over(PANEL, "--info-bg")  # the DSLR Remote Pro box on the slot page
DROPZONE = _over(PANEL, "--dropzone-bg")
MENU = _over(PAGE, "--menu-bg")
TOAST = _over(UNDER_GLASS, "--toast-bg")
READING = SLOT_PAGE + PANEL + WHITE + FIELD + INFO_BOX + DROPZONE + MENU
FOCUSABLE_ON = SLOT_PAGE + PANEL + HEADER + WHITE + INFO_BOX + MENU

PAIRS = [
    # foreground, backgrounds, minimum, what it is
    ("--text", READING, TEXT, "body text"),
    ("--text", HEADER + TOAST, TEXT, "header links, toast messages"),
    ("--muted", READING, TEXT, "hints, labels of counters, table headings"),
    ("--accent-strong", [*READING, ("--accent-soft",)], TEXT, "links, teal text, current nav item"),
    ("--on-accent", [("--accent",), ("--accent-strong",)], TEXT, "primary button text"),
    ("--danger", PANEL + WHITE + [("--danger-soft",)], TEXT, "errors, danger buttons"),
    ("--text", [("--danger-soft",)], TEXT, "the settings' conflict notice"),
    ("--warn", [("--warn-soft",)], TEXT, "warning pill"),
    ("--pill-off", [("--pill-off-soft",)], TEXT, "«Отключён» pill"),
    ("--badge", [("--badge-soft",)], TEXT, "provider badge"),
    ("--field-border", FIELD + PANEL + PAGE + WHITE, GRAPHIC, "input border"),
    ("--switch-off", PANEL + WHITE, GRAPHIC, "switch track, off"),
    ("--switch-on", PANEL + WHITE, GRAPHIC, "switch track, on"),
    ("--switch-knob", [("--switch-off",), ("--switch-on",)], GRAPHIC, "switch knob on its track"),
    ("--accent", PANEL + WHITE, GRAPHIC, "slider thumb, primary button shape"),
    ("--dropzone-border", DROPZONE + PANEL, GRAPHIC, "drop zone outline"),
    ("--focus", FOCUSABLE_ON, GRAPHIC, "focus ring"),
    ("--chart-jobs", PANEL, GRAPHIC, "chart bars: jobs"),
    ("--chart-timeouts", PANEL, GRAPHIC, "chart bars: timeouts"),
    ("--chart-errors", PANEL, GRAPHIC, "chart bars: errors"),
]

# Where the checked variables are drawn, so a rule cannot quietly switch to an unchecked colour.
USES = [
    ("body", "color: var(--text)"),
    ("a", "color: var(--accent-strong)"),
    (".hint", "color: var(--muted)"),
    ('input[type="text"]', "border: 1px solid var(--field-border)"),
    ("select", "border: 1px solid var(--field-border)"),
    (".switch .track", "background: var(--switch-off)"),
    (".switch input:checked + .track", "background: var(--switch-on)"),
    (":focus-visible", "outline: 3px solid var(--focus)"),
    (".switch input:focus-visible + .track", "outline: 3px solid var(--focus)"),
    (".dropzone", "border: 2px dashed var(--dropzone-border)"),
    (".button", "color: var(--on-accent)"),
]


def root_variables(css: str) -> dict[str, str]:
    block = re.search(r":root\s*\{(.*?)\}", css, re.S).group(1)
    block = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    return {name: value.strip() for name, value in re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", block)}


def parse_colour(value: str, variables: dict[str, str]) -> tuple[RGB, float]:
    """#rgb, #rrggbb, rgb()/rgba() with commas, or var(--other)."""
    if reference := re.fullmatch(r"var\((--[\w-]+)\)", value):
        return parse_colour(variables[reference.group(1)], variables)
    if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value):
        digits = value[1:] if len(value) == 7 else "".join(c * 2 for c in value[1:])
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4)), 1.0
    if functional := re.fullmatch(r"rgba?\(([^)]*)\)", value):
        parts = [float(part) for part in functional.group(1).split(",")]
        return tuple(parts[:3]), parts[3] if len(parts) == 4 else 1.0
    raise ValueError(f"not a colour this test reads: {value}")


def composite(layers: Layers, variables: dict[str, str]) -> RGB:
    """What the eye sees: each layer painted over the ones below it."""
    seen: RGB = (255.0, 255.0, 255.0)
    for name in layers:
        colour, alpha = parse_colour(variables[name], variables)
        pairs = zip(colour, seen, strict=True)
        seen = tuple(alpha * top + (1 - alpha) * below for top, below in pairs)
    return seen


def relative_luminance(colour: RGB) -> float:
    def linear(channel: float) -> float:
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: RGB, second: RGB) -> float:
    lighter, darker = sorted(map(relative_luminance, (first, second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.fixture(scope="module")
def variables() -> dict[str, str]:
    return root_variables(STYLESHEET.read_text())


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast_ratio((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)
    half_black = composite(("--white", "--ink"), {"--white": "#fff", "--ink": "rgba(0,0,0,0.5)"})
    assert half_black == (127.5, 127.5, 127.5)


@pytest.mark.parametrize(
    ("foreground", "backgrounds", "minimum"),
    [pair[:3] for pair in PAIRS],
    ids=[f"{pair[0]} ({pair[3]})" for pair in PAIRS],
)
def test_colour_has_enough_contrast_on_every_surface_it_sits_on(
    variables, foreground, backgrounds, minimum
):
    ratios = {}
    for layers in backgrounds:
        background = composite(layers, variables)
        seen = composite((*layers, foreground), variables)
        ratios[" over ".join(reversed(layers))] = round(contrast_ratio(seen, background), 2)
    worst = min(ratios, key=ratios.get)

    assert ratios[worst] >= minimum, f"{foreground} on {worst}: {ratios[worst]}:1"


def test_every_colour_in_the_stylesheet_is_a_variable():
    """Colours outside :root would escape the checks above."""
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    rules = re.sub(r":root\s*\{.*?\}", "", css, count=1, flags=re.S)

    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(", rules) == []


@pytest.mark.parametrize(("selector", "declaration"), USES)
def test_controls_are_drawn_with_the_checked_variables(selector, declaration):
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    declarations = [
        body
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if selector in (part.strip() for part in selectors.split(","))
    ]

    assert any(declaration in body for body in declarations), (selector, declaration)
