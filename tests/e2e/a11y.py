"""A small accessibility check run on every participant page the browser tests visit.

axe-core is not installed (no pip package in requirements-dev.txt ships it), so these are
hand-written checks of what matters most on the participant pages:

- every form control has an accessible name (``aria-labelledby``, ``aria-label``, a
  ``<label>``, a button's text or a ``title``), and every radio group sits in a
  ``<fieldset>`` with a ``<legend>`` (or a named ``role=radiogroup``);
- every ``<img>`` has an ``alt`` attribute, and the page has one ``<h1>`` (screen-reader
  users jump to it; axe-core's ``page-has-heading-one``);
- pressing Tab from the start of ``<main>`` reaches every answer control (one stop per
  radio group) and the buttons, in DOM order, each with a visible focus indicator (an
  outline or a box shadow on the control or on its label, the label's for visually
  hidden inputs);
- the text of every heatmap token has a contrast ratio of at least 4.5:1 with its
  background (WCAG 2.1 SC 1.4.3, AA for normal text), computed here from the browser's
  computed styles with WCAG's relative-luminance formula.

:func:`check_page` asserts all of them and says which element failed which rule.
"""

import re

from playwright.sync_api import Page

MIN_CONTRAST = 4.5  # WCAG 2.1 SC 1.4.3 (AA), normal-size text

_NAMES_JS = """
() => {
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, " ").trim() : "");
  const describe = (el) => {
    const id = el.id ? "#" + el.id : "";
    const name = el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "";
    const value = el.getAttribute("value") ? `[value=${el.getAttribute("value")}]` : "";
    return el.tagName.toLowerCase() + id + name + value;
  };
  const nameOf = (el) => {
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    const byIds = ids.map((id) => text(document.getElementById(id))).join(" ").trim();
    if (byIds) return byIds;
    if ((el.getAttribute("aria-label") || "").trim()) return el.getAttribute("aria-label").trim();
    const labels = Array.from(el.labels || []).map(text).join(" ").trim();
    if (labels) return labels;
    if (el.tagName === "BUTTON") return text(el);
    if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return el.value;
    return (el.getAttribute("title") || "").trim();
  };
  const problems = [];
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button"
  );
  const groups = new Map();
  for (const el of controls) {
    if (!nameOf(el)) problems.push(`${describe(el)} has no accessible name`);
    if (el.type === "radio" && el.name && !groups.has(el.name)) groups.set(el.name, el);
  }
  for (const [name, el] of groups) {
    const fieldset = el.closest("fieldset");
    const legend = fieldset && fieldset.querySelector(":scope > legend");
    const group = el.closest("[role=radiogroup]");
    if (!(legend && text(legend)) && !(group && nameOf(group))) {
      problems.push(`radio group ${name} has no fieldset legend or named radiogroup`);
    }
  }
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`the page has ${h1} level-one headings; expected one`);
  for (const img of document.querySelectorAll("img:not([alt])")) {
    problems.push(`img ${img.getAttribute("src")} has no alt attribute`);
  }
  return problems;
}
"""

# Mark the controls Tab must reach inside <main>, in DOM order; a radio group is one stop.
_MARK_STOPS_JS = """
() => {
  const main = document.querySelector("main");
  const rendered = (el) => {
    const style = getComputedStyle(el);
    return style.visibility !== "hidden" && style.display !== "none" && el.getClientRects().length > 0;
  };
  const stops = [];
  const seen = new Set();
  const controls = main.querySelectorAll("input:not([type=hidden]), select, textarea, button");
  for (const el of controls) {
    if (el.disabled || el.tabIndex < 0 || !rendered(el)) continue;
    const key = el.type === "radio" && el.name ? "radio:" + el.form?.id + ":" + el.name : null;
    if (key && seen.has(key)) { el.dataset.a11yStop = String(stops.length - 1); continue; }
    if (key) seen.add(key);
    el.dataset.a11yStop = String(stops.length);
    const label = el.name ? `${el.tagName.toLowerCase()}[name=${el.name}]` : el.tagName.toLowerCase();
    stops.push(label + (el.tagName === "BUTTON" ? ` "${el.textContent.trim()}"` : ""));
  }
  const before = document.activeElement;
  main.focus();  // <main tabindex=-1>: Tab now moves to the first control after its start
  window.__a11yBefore = before;
  return stops;
}
"""

_FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || !document.querySelector("main").contains(el) || el.tagName === "MAIN") {
    return {stop: null, inside: false, visible: false, what: el ? el.tagName : ""};
  }
  const opaque = (node) => {
    let alpha = 1;
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      alpha *= parseFloat(getComputedStyle(n).opacity);
    }
    return alpha > 0.2;
  };
  const drawn = (node) => {
    if (!node) return false;
    const style = getComputedStyle(node);
    const rect = node.getBoundingClientRect();
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1;
    const shadow = style.boxShadow && style.boxShadow !== "none";
    return (outline || shadow) && rect.width >= 4 && rect.height >= 4 && opaque(node);
  };
  return {
    stop: el.dataset.a11yStop === undefined ? null : Number(el.dataset.a11yStop),
    inside: true,
    visible: el.matches(":focus-visible") && (drawn(el) || drawn(el.closest("label"))),
    what: el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : ""),
  };
}
"""

_RESTORE_JS = """
() => {
  for (const el of document.querySelectorAll("[data-a11y-stop]")) delete el.dataset.a11yStop;
  const before = window.__a11yBefore;
  delete window.__a11yBefore;
  // With nothing focused before, leave Tab's starting point at the start of <main>.
  if (before && before !== document.body) before.focus();
  else { document.querySelector("main").focus(); document.activeElement.blur(); }
}
"""

_TOKEN_COLOURS_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  // The background a token is painted on: its own, composited over its ancestors'.
  const background = (el) => {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      layers.push(parse(getComputedStyle(n).backgroundColor));
    }
    let colour = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
      colour = [r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
    }
    return colour;
  };
  return Array.from(document.querySelectorAll(".tok")).map((el) => ({
    token: el.textContent,
    fg: parse(getComputedStyle(el).color).slice(0, 3),
    bg: background(el),
  }));
}
"""


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """Return WCAG 2.x relative luminance: 0.2126 R + 0.7152 G + 0.0722 B of linear sRGB.

    Each channel c = C/255 is linearised as c/12.92 when c <= 0.04045, else
    ((c + 0.055)/1.055)^2.4 (the sRGB transfer function, IEC 61966-2-1).
    """

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Return the WCAG contrast ratio (L1 + 0.05) / (L2 + 0.05), L1 the lighter colour."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def unnamed_controls(page: Page) -> list[str]:
    """Return the form controls without an accessible name, unnamed radio groups, images
    without ``alt`` and a missing or repeated ``<h1>``."""
    return list(page.evaluate(_NAMES_JS))


def focus_order_problems(page: Page) -> list[str]:
    """Tab through ``<main>``; return what is skipped, out of order or focused invisibly."""
    stops: list[str] = page.evaluate(_MARK_STOPS_JS)
    problems: list[str] = []
    visited: list[int] = []
    try:
        for _ in range(len(stops) + 10):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED_JS)
            if not focused["inside"]:
                break
            if focused["stop"] is None:
                continue  # a link in the text, for instance: allowed, not an answer control
            if not focused["visible"]:
                problems.append(f"{stops[focused['stop']]} has no visible focus indicator")
            if not visited or visited[-1] != focused["stop"]:
                visited.append(focused["stop"])
    finally:
        page.evaluate(_RESTORE_JS)
    expected = list(range(len(stops)))
    if visited != expected:
        missing = [stops[i] for i in expected if i not in visited]
        problems.append(
            f"Tab order {[stops[i] for i in visited]} differs from DOM order {stops}"
            + (f"; never reached: {missing}" if missing else "")
        )
    return problems


def contrast_problems(page: Page) -> list[str]:
    """Return the heatmap tokens whose text contrast is below :data:`MIN_CONTRAST`."""
    problems = []
    for token in page.evaluate(_TOKEN_COLOURS_JS):
        ratio = contrast_ratio(tuple(token["fg"]), tuple(token["bg"]))
        if ratio < MIN_CONTRAST:
            problems.append(
                f"token {token['token']!r}: contrast {ratio:.2f}:1 < {MIN_CONTRAST}:1 "
                f"(text rgb{tuple(round(c) for c in token['fg'])} on "
                f"rgb{tuple(round(c) for c in token['bg'])})"
            )
    return problems


def check_page(page: Page) -> int:
    """Assert that ``page`` passes every check; return how many heatmap tokens were checked."""
    problems = unnamed_controls(page) + focus_order_problems(page) + contrast_problems(page)
    path = re.sub(r"^https?://[^/]+", "", page.url)
    assert not problems, f"accessibility problems on {path}:\n  " + "\n  ".join(problems)
    return int(page.locator(".tok").count())
