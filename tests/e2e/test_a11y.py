"""The accessibility helper finds what it should, and its contrast formula is WCAG's."""

import pytest

from .a11y import (
    check_page,
    contrast_problems,
    contrast_ratio,
    focus_order_problems,
    unnamed_controls,
)

STYLE = """<style>
:focus-visible { outline: 3px solid #000; }
.quiet:focus { outline: none; }
.tok { padding: .1em; }
</style>"""


def test_contrast_ratio_matches_wcag_worked_values():
    # WCAG's extremes, and the two greys on either side of AA on white (WebAIM's checker:
    # #767676 gives 4.54:1, #777777 gives 4.48:1).
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    assert contrast_ratio((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.005)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.005)


def test_a_clean_page_passes(page):
    page.set_content(
        f"""<html><head>{STYLE}</head><body><main id="main" tabindex="-1"><h1>Item 1</h1><form>
        <p><span class="tok" style="background:#2166ac;color:#ffffff">good</span>
           <span class="tok" style="background:rgba(33,102,172,0.1);color:#000">fine</span></p>
        <img src="data:," alt="">
        <fieldset><legend>Rate it</legend>
          <label><input type="radio" name="r" value="1"> 1</label>
          <label><input type="radio" name="r" value="2"> 2</label></fieldset>
        <label for="c">Comment</label><textarea id="c" name="c"></textarea>
        <button type="submit">Next</button></form></main></body></html>"""
    )
    assert check_page(page) == 2


def test_each_problem_is_found_and_named(page):
    page.set_content(
        f"""<html><head>{STYLE}</head><body><main id="main" tabindex="-1"><form>
        <p><span class="tok" style="background:#fde0c0;color:#ffffff">pale</span></p>
        <img src="data:,">
        <label><input type="radio" name="r" value="1"> 1</label>
        <input type="text" name="unnamed">
        <input type="text" name="late" tabindex="2" aria-label="Late">
        <button type="submit" class="quiet">Next</button></form></main></body></html>"""
    )
    names = unnamed_controls(page)
    assert "input[name=unnamed] has no accessible name" in names
    assert "radio group r has no fieldset legend or named radiogroup" in names
    assert "img data:, has no alt attribute" in names
    assert "the page has 0 level-one headings; expected one" in names
    focus = focus_order_problems(page)
    assert 'button "Next" has no visible focus indicator' in focus
    # tabindex=2 takes the field out of the DOM order: Tab through <main> never reaches it.
    assert any(p.endswith("never reached: ['input[name=late]']") for p in focus), focus
    (contrast,) = contrast_problems(page)
    assert contrast.startswith("token 'pale': contrast 1.")
    with pytest.raises(AssertionError, match="accessibility problems"):
        check_page(page)
