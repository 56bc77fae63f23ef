"""What a page asks the browser to fetch from elsewhere than the app itself."""

import re
from html.parser import HTMLParser

_FETCHING_ATTRIBUTES = {"src", "srcset", "data", "poster"}
# href fetches on load only on these; on <a> it is a link a person may follow.
_HREF_FETCHING_TAGS = {"link", "image", "use", "script"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""")
_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""")


def _external(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http://", "https://", "//"))


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._in_style = True
        for name, value in attrs:
            if value is None:
                continue
            fetches = name in _FETCHING_ATTRIBUTES or (
                name in {"href", "xlink:href"} and tag in _HREF_FETCHING_TAGS
            )
            if fetches:
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name == "style":
                self.urls.extend(_CSS_URL.findall(value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_CSS_URL.findall(data) + _IMPORT.findall(data))


def external_assets(html: str) -> list[str]:
    """Every URL in a fetching attribute or inline CSS that points outside the app.

    Links a person may follow (`<a href>`) are not fetched by the browser on load, so
    they are left out; so are CSRF tokens and other text that may happen to spell "cdn".
    """
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return [url for url in collector.urls if _external(url)]
