from tests.assets import external_assets


def test_external_assets_finds_what_the_browser_would_fetch_elsewhere():
    html = """<html><head>
    <link rel="stylesheet" href="https://cdn.example.org/a.css">
    <style>@import "//fonts.example.org/x"; body { background: url('/static/a.png') }</style>
    <script src="/static/a.js"></script></head>
    <body><img srcset="https://img.example.org/a.png 1x, /static/b.png 2x">
    <div style="background: url(http://example.org/x.png)"></div></body></html>"""
    assert external_assets(html) == [
        "https://cdn.example.org/a.css",
        "//fonts.example.org/x",
        "https://img.example.org/a.png",
        "http://example.org/x.png",
    ]


def test_external_assets_ignores_links_and_text_that_spells_cdn():
    html = """<a href="https://app.prolific.com/submissions/complete?cc=X">done</a>
    <form action="/models/"><input type="hidden" name="csrfmiddlewaretoken" value="n9hcdnal"></form>
    <p>served without a CDN</p>"""
    assert external_assets(html) == []
