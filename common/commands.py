"""What every management command of ours shares: argument types with messages for
people, help that shows defaults, and a quiet end when its output pipe closes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from django.core.management.base import BaseCommand, DjangoHelpFormatter


class HelpFormatter(DjangoHelpFormatter):
    """Django's (its own options last) plus "(default: ...)" after an option's help when
    it has a real default (not None or a flag's False) that the help does not state."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def _whole_number_at_least(minimum: int):
    """An argparse type: a whole number, ``minimum`` or more (``--users -5`` says so)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return parse


non_negative_int = _whole_number_at_least(0)
positive_int = _whole_number_at_least(1)


class Command(BaseCommand):
    """A ``BaseCommand`` whose help shows defaults and which ends quietly, like Unix tools,
    when the reader of its output goes away (``manage.py sales_summary | head``)."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def execute(self, *args, **options):
        try:
            result = super().execute(*args, **options)
            sys.stdout.flush()  # a closed pipe shows here, not in Python's exit handler
            return result
        except BrokenPipeError:
            # No tracebacks: stdout to /dev/null, exit with SIGPIPE's usual status.
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):  # stdout is not a real file (tests)
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(128 + 13)
