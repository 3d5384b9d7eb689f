"""The API's JSON parser: DRF's, with nesting too deep to parse refused as malformed instead of crashing."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser; a body nested deeper than Python's parser can follow is a 400, not a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError as error:
            raise ParseError("The request body is nested too deeply.") from error
