"""REST API pages: a documented default size and a maximum a client cannot exceed.

Every list answers ``ELEPHANT_API_PAGE_SIZE`` rows (50) unless ``?page_size=`` asks for
another number, which is capped at ``ELEPHANT_API_MAX_PAGE_SIZE`` (200). Instances and
explanations carry one or more values per token (an instance at the 5,000-token limit
is about 120 KB of JSON, its explanation about 100 KB), so their lists use
:class:`LongRowPagination`: 10 rows by default, at most 25. Measured with 60 instances
at the limit: 1.2 MB for a default page, 2.9 MB at most, where one unlimited record
made a page of 63 MB.
"""

from django.conf import settings
from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.request import Request

LONG_ROW_PAGE_SIZE = 10
LONG_ROW_MAX_PAGE_SIZE = 25


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages; ``?page_size=`` up to ``ELEPHANT_API_MAX_PAGE_SIZE``."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int | None:
        # Read at request time, so a changed setting (or a test's override) applies.
        self.page_size = self.default_page_size()
        self.max_page_size = self.largest_page_size()
        return super().get_page_size(request)

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        # DRF reads an empty ?page= as page 1; like ?page=abc it is no page (404), as the
        # schema's "page: integer" says.
        if request.query_params.get(self.page_query_param) == "":
            return ""
        return super().get_page_number(request, paginator)  # type: ignore[no-any-return]  # DRF is untyped here

    def default_page_size(self) -> int:
        return int(settings.ELEPHANT_API_PAGE_SIZE)

    def largest_page_size(self) -> int:
        return int(settings.ELEPHANT_API_MAX_PAGE_SIZE)


class LongRowPagination(PageNumberPagination):
    """Smaller pages for rows that grow with the text: instances and explanations."""

    def default_page_size(self) -> int:
        return min(LONG_ROW_PAGE_SIZE, super().largest_page_size())

    def largest_page_size(self) -> int:
        return min(LONG_ROW_MAX_PAGE_SIZE, super().largest_page_size())
