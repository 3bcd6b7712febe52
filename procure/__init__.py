"""procure: least-cost critical-mineral procurement plans from an Excel workbook.

The flow is one way: ``workbook`` (read) -> ``validate`` (typed data) ->
``scenario`` (variants) -> ``instance`` (sets and data of the model) ->
``formulation`` (the linear program) -> ``solve`` -> ``report`` (tables) ->
``plan`` (the Excel plan). ``cli`` is the only module that knows about Typer.
"""


def __getattr__(name: str):
    # the version is looked up only when asked for: importlib.metadata costs ~25 ms at start-up
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("procure")
        except PackageNotFoundError:  # running from a source tree that was not installed
            return "0+unknown"
    raise AttributeError(f"module 'procure' has no attribute {name!r}")
