"""The debugger agent: run on a debugger host (Windows with pykd or pybag, or anywhere for
the gdbstub engine), it speaks JSON lines on stdin and stdout (`wire`), supervises one
engine process per session and kills it when a command overruns (`main`).

Standard library only and Python 3.8 syntax throughout: pykd's wheels stop at CPython 3.9.
`harness.debug.bundle` packs this package with the modules it needs into one zipapp.
"""
