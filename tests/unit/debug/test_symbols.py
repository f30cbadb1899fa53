"""Offsets from symbols: a kernel image built by the mingw-w64 linker (with a real CodeView
record and PDB name), mapped into a fake guest memory behind a real IDT layout, its PDB's
types written by LLVM's PDB writer (llvm-pdbutil yaml2pdb), found in a symbol store and
read for ETHREAD.Cid - through the gdbstub debugger too."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.debug import ThreadRef, symbols, windows
from harness.debug.gdbstub import GdbstubDebugger
from harness.errors import ConfigError, DebuggerError, InputError

from .fakestub import FakeStub, qemu_like

BASE = 0xFFFFF80612000000
KPCR, IDT, THREAD = 0xFFFFF80011110000, 0xFFFFF80011120000, 0xFFFFB00012345080
RIP, CS, GS_BASE = 16, 17, 18
KERNEL_C = "long KiDivideErrorFault(void) { return 0; }\n"


def _tool(name: str, install: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not installed (hypervisor_packages_{install}): run "
            "`scripts/setup-host` (make test does it)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, symbols.CodeView]:
    """An image named like the kernel, its RSDS record made by the linker."""
    out = tmp_path_factory.mktemp("kernel")
    (out / "k.c").write_text(KERNEL_C)
    image = out / "ntoskrnl.exe"
    subprocess.run(
        [
            _tool("x86_64-w64-mingw32-gcc", "driver"),
            "-shared",
            "-nostdlib",
            "-Wl,--subsystem,native",
            "-Wl,--entry,KiDivideErrorFault",
            f"-Wl,--pdb={out / 'ntkrnlmp.pdb'}",
            "-o",
            str(image),
            str(out / "k.c"),
        ],
        check=True,
        capture_output=True,
    )
    pe = pefile.PE(str(image))
    [entry] = [d for d in pe.DIRECTORY_ENTRY_DEBUG if d.struct.Type == 2]
    cv = entry.entry
    guid = (
        struct.pack("<IHH", cv.Signature_Data1, cv.Signature_Data2, cv.Signature_Data3)
        + bytes([cv.Signature_Data4, cv.Signature_Data5])
        + cv.Signature_Data6
    )
    return image, symbols.CodeView(cv.PdbFileName.rstrip(b"\0").decode(), guid, cv.Age)


def _guid_text(guid: bytes) -> str:
    d1, d2, d3 = struct.unpack_from("<IHH", guid)
    return f"{{{d1:08X}-{d2:04X}-{d3:04X}-{guid[8:10].hex().upper()}-{guid[10:].hex().upper()}}}"


def write_pdb(path: Path, guid: bytes, cid: int) -> Path:
    """A PDB whose types give _ETHREAD.Cid at `cid`: a forward reference first, the member
    list split over two records (LF_INDEX), a nested type to skip, a numeric leaf."""
    yaml = f"""---
PdbStream: {{ Age: 1, Guid: '{_guid_text(guid)}', Signature: 0, Features: [ VC140 ],
             Version: VC70 }}
TpiStream:
  Version: VC80
  Records:
    - Kind: LF_STRUCTURE
      Class: {{ MemberCount: 0, Options: [ ForwardReference ], FieldList: 0, Name: _ETHREAD,
               UniqueName: '', DerivationList: 0, VTableShape: 0, Size: 0 }}
    - Kind: LF_FIELDLIST
      FieldList:
        - Kind: LF_MEMBER
          DataMember: {{ Attrs: 3, Type: 35, FieldOffset: {cid}, Name: Cid }}
        - Kind: LF_MEMBER
          DataMember: {{ Attrs: 3, Type: 35, FieldOffset: 40000, Name: Far }}
    - Kind: LF_FIELDLIST
      FieldList:
        - Kind: LF_NESTTYPE
          NestedType: {{ Type: 35, Name: Inner }}
        - Kind: LF_MEMBER
          DataMember: {{ Attrs: 3, Type: 35, FieldOffset: 0, Name: Tcb }}
        - Kind: LF_INDEX
          ListContinuation: {{ ContinuationIndex: 4097 }}
    - Kind: LF_STRUCTURE
      Class: {{ MemberCount: 3, Options: [ ], FieldList: 4098, Name: _ETHREAD, UniqueName: '',
               DerivationList: 0, VTableShape: 0, Size: 1928 }}
...
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = path.with_suffix(".yaml")
    source.write_text(yaml)
    subprocess.run(
        [_tool("llvm-pdbutil", "debug"), "yaml2pdb", f"-pdb={path}", str(source)],
        check=True,
        capture_output=True,
    )
    return path


def guest_memory(image: Path) -> dict[int, int]:
    """The image mapped at BASE the way a loader maps sections, the KPCR's IdtBase and an
    IDT whose first gate points into the image's code, the thread's Cid."""
    pe = pefile.PE(str(image))
    mapped = bytearray(pe.get_memory_mapped_image())
    memory = {BASE + i: b for i, b in enumerate(mapped)}
    handler = BASE + pe.OPTIONAL_HEADER.AddressOfEntryPoint + 0x10
    gate = struct.pack(
        "<HHHHII", handler & 0xFFFF, 0x10, 0x8E00, handler >> 16 & 0xFFFF, handler >> 32, 0
    )
    for base, data in (
        (KPCR + 0x38, IDT.to_bytes(8, "little")),
        (IDT, gate),
        (KPCR + 0x188, THREAD.to_bytes(8, "little")),
        (THREAD + 0x508 + 8, (0x1F4C).to_bytes(8, "little")),
    ):
        memory.update({base + i: b for i, b in enumerate(data)})
    return memory


class Cpu:
    def __init__(self, memory: dict[int, int]) -> None:
        self.memory = memory

    def register(self, name: str) -> int:
        return {"cs": 0x10, "gs_base": KPCR}[name]

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.memory.get(address + i, 0) for i in range(size))

    def write(self, address: int, data: bytes) -> None:
        raise AssertionError("read-only")


def test_the_kernel_identity_is_read_from_guest_memory(
    kernel: tuple[Path, symbols.CodeView],
) -> None:
    image, expected = kernel
    cpu = Cpu(guest_memory(image))
    found = symbols.kernel_codeview(cpu, KPCR)
    assert found == expected and found.pdb == "ntkrnlmp.pdb"
    d1 = struct.unpack_from("<I", expected.guid)[0]
    assert found.key.startswith(f"{d1:08X}") and found.key.endswith(f"{expected.age:X}")


def test_cid_offset_from_a_symbol_store(
    kernel: tuple[Path, symbols.CodeView], tmp_path: Path
) -> None:
    image, cv = kernel
    write_pdb(tmp_path / "store" / cv.pdb / cv.key / cv.pdb, cv.guid, 0x508)
    cpu = Cpu(guest_memory(image))
    path = f"srv*{tmp_path / 'store'}*https://msdl.microsoft.com/download/symbols"
    offset = windows.cid_offset(cpu, cpu, symbol_path=path)
    assert offset == 0x508
    assert windows.thread_id(cpu, windows.current_thread(cpu, cpu), offset) == 0x1F4C
    # symbols win over the table: the running kernel's own PDB is the measurement
    write_pdb(tmp_path / "flat" / cv.pdb, cv.guid, 0x510)
    assert windows.cid_offset(cpu, cpu, symbol_path=str(tmp_path / "flat"), build=26100) == 0x510
    assert windows.cid_offset(cpu, cpu, build=26100) == 0x508


def test_a_pdb_of_another_build_is_not_used(
    kernel: tuple[Path, symbols.CodeView], tmp_path: Path
) -> None:
    image, cv = kernel
    write_pdb(tmp_path / cv.pdb, bytes(16), 0x508)  # same name, other GUID
    cpu = Cpu(guest_memory(image))
    with pytest.raises(ConfigError, match=f"no ntkrnlmp.pdb with id {cv.key}.*looked at"):
        windows.cid_offset(cpu, cpu, symbol_path=str(tmp_path))


def test_corrupt_pdbs_are_input_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdb"
    junk.write_bytes(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + b"\xff" * 40)
    with pytest.raises(InputError):
        symbols.field_offset(junk, "_ETHREAD", "Cid")
    junk.write_bytes(b"not a pdb")
    with pytest.raises(InputError, match="not a PDB"):
        symbols.pdb_guid(junk)


def test_a_missing_type_or_field_is_named(tmp_path: Path) -> None:
    pdb = write_pdb(tmp_path / "x.pdb", bytes(16), 0x508)
    with pytest.raises(ConfigError, match="describes no _KPRCB"):
        symbols.field_offset(pdb, "_KPRCB", "CurrentThread")
    with pytest.raises(ConfigError, match="has no field Cod"):
        symbols.field_offset(pdb, "_ETHREAD", "Cod")


def test_no_kernel_below_the_handler_is_a_debugger_error() -> None:
    cpu = Cpu({})
    cpu.memory.update({KPCR + 0x38 + i: b for i, b in enumerate(IDT.to_bytes(8, "little"))})
    with pytest.raises(DebuggerError, match="no kernel image"):
        symbols.kernel_codeview(cpu, KPCR)


@pytest.fixture
def stub(kernel: tuple[Path, symbols.CodeView]) -> Iterator[FakeStub]:
    fake = FakeStub(qemu_like({RIP: BASE, CS: 0x10, GS_BASE: KPCR}, guest_memory(kernel[0])))
    yield fake
    fake.close()


def test_the_gdbstub_debugger_reads_the_offset_from_symbols(
    kernel: tuple[Path, symbols.CodeView], stub: FakeStub, tmp_path: Path
) -> None:
    _, cv = kernel
    write_pdb(tmp_path / cv.pdb / cv.key / cv.pdb, cv.guid, 0x508)
    debugger = GdbstubDebugger.from_options(
        {"port": str(stub.port), "timeout": "5", "symbols": str(tmp_path)}
    )
    try:
        assert debugger.current_thread() == ThreadRef(id=0x1F4C, object=THREAD)
    finally:
        debugger.detach()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([512, 1024, 4096]))
def test_fuzzed_pdbs_are_input_or_config_errors(
    tmp_path_factory: pytest.TempPathFactory, body: bytes, block: int
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.pdb"
    header = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + struct.pack("<I", block)
    path.write_bytes(header + body)
    with pytest.raises((InputError, ConfigError)):
        symbols.field_offset(path, "_ETHREAD", "Cid")


@pytest.fixture(scope="module")
def valid_pdb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_pdb(tmp_path_factory.mktemp("valid") / "v.pdb", bytes(16), 0x508).read_bytes()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_pdbs_never_raise_anything_else(
    tmp_path_factory: pytest.TempPathFactory, valid_pdb: bytes, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(valid_pdb)
    for position, value in flips:
        data[position % len(data)] = value
    path = tmp_path_factory.mktemp("damaged") / "d.pdb"
    path.write_bytes(bytes(data))
    try:
        offset = symbols.field_offset(path, "_ETHREAD", "Cid")
    except (InputError, ConfigError):
        return
    assert isinstance(offset, int)


def test_a_field_list_continuing_into_itself_ends(tmp_path: Path) -> None:
    yaml = """---
PdbStream: { Age: 1, Guid: '{00000000-0000-0000-0000-000000000000}', Signature: 0,
             Features: [ VC140 ], Version: VC70 }
TpiStream:
  Version: VC80
  Records:
    - Kind: LF_FIELDLIST
      FieldList:
        - Kind: LF_INDEX
          ListContinuation: { ContinuationIndex: 4096 }
    - Kind: LF_STRUCTURE
      Class: { MemberCount: 1, Options: [ ], FieldList: 4096, Name: _ETHREAD, UniqueName: '',
               DerivationList: 0, VTableShape: 0, Size: 8 }
...
"""
    (tmp_path / "loop.yaml").write_text(yaml)
    subprocess.run(
        [
            _tool("llvm-pdbutil", "debug"),
            "yaml2pdb",
            f"-pdb={tmp_path / 'loop.pdb'}",
            str(tmp_path / "loop.yaml"),
        ],
        check=True,
        capture_output=True,
    )
    with pytest.raises(InputError, match="continues into itself"):
        symbols.field_offset(tmp_path / "loop.pdb", "_ETHREAD", "Cid")
