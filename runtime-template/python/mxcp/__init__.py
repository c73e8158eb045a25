"""mxcp's Python API, served by the mxcp executable's embedded interpreter.

`mxcp.runtime` is what endpoint code imports; `mxcp._host` is how the executable drives it.
"""
