"""DRF's JSON parser, refusing absurdly nested JSON with 400 instead of crashing with 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # `[[[[…` deeper than Python's recursion limit
            raise ParseError("JSON parse error - nested too deeply") from None
