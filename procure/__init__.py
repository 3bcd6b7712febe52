"""procure: least-cost critical-mineral procurement plans from an Excel workbook.

The flow is one way: ``workbook`` (read) -> ``validate`` (typed data) ->
``scenario`` (variants) -> ``instance`` (sets and data of the model) ->
``formulation`` (the linear program) -> ``solve`` -> ``report`` (tables) ->
``plan`` (the Excel plan). ``cli`` is the only module that knows about Typer.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("procure")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
