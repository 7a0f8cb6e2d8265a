#!/usr/bin/env python3
"""Makes the active-content fixtures from the real samples in ../Samples, with python's zlib
and zipfile (the same DEFLATE as Office, LibreOffice and PDF writers use). Deterministic: run it
again and the files come out byte for byte the same.

    python3 Tests/VaultTests/ActiveContentSamples/make.py
"""
import os, re, zipfile, zlib

here = os.path.dirname(os.path.abspath(__file__))
samples = os.path.join(here, "..", "Samples")
FIXED_TIME = (2026, 11, 22, 16, 21, 0)


def read(name):
    with open(os.path.join(samples, name), "rb") as f:
        return f.read()


def pdf_with_script_in_object_stream():
    """The real minutes PDF with an incremental update, as a PDF editor saves one: a new catalog
    whose /OpenAction and document-level name tree run JavaScript, both objects inside a
    FlateDecode object stream (so neither /JavaScript nor /JS is in the file's raw bytes),
    indexed by a cross-reference stream. `pdfinfo -js` (poppler) prints the script."""
    base = read("strategy-meeting-minutes.pdf")
    root = int(re.search(rb"/Root (\d+) 0 R", base).group(1))
    size = int(re.search(rb"/Size (\d+)", base).group(1))
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    catalog_src = re.search(rb"\n%d 0 obj\s*(<<.*?>>)\s*endobj" % root, base, re.S).group(1)
    pages = re.search(rb"/Pages (\d+ 0 R)", catalog_src).group(1)
    action_num, stm_num, xref_num = size, size + 1, size + 2
    objects = [
        (root, b"<< /Type /Catalog /Pages %s /OpenAction %d 0 R /Names << /JavaScript << /Names [(x) %d 0 R] >> >> >>" % (pages, action_num, action_num)),
        (action_num, b"<< /S /JavaScript /JS (app.alert\\('This document would run a script'\\);) >>"),
    ]
    header, body = b"", b""
    for num, obj in objects:
        header += b"%d %d " % (num, len(body))
        body += obj + b"\n"
    data = zlib.compress(header + body, 9)
    out = bytearray(base)
    if not out.endswith(b"\n"):
        out += b"\n"
    stm_offset = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (
        stm_num, len(objects), len(header), len(data))
    out += data + b"\nendstream\nendobj\n"
    xref_offset = len(out)
    # Cross-reference stream: W [1 4 2]; type 2 entries for the objects in the stream.
    rows = []
    index = []
    entries = {root: (2, stm_num, 0), action_num: (2, stm_num, 1), stm_num: (1, stm_offset, 0), xref_num: (1, xref_offset, 0)}
    for num in sorted(entries):
        t, a, b = entries[num]
        rows.append(bytes([t]) + a.to_bytes(4, "big") + b.to_bytes(2, "big"))
        index += [num, 1]
    xref_data = zlib.compress(b"".join(rows), 9)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /Root %d 0 R /Prev %d /W [1 4 2] /Index [%s] /Filter /FlateDecode /Length %d >>\nstream\n" % (
        xref_num, xref_num + 1, root, prev, b" ".join(b"%d" % i for i in index), len(xref_data))
    out += xref_data + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def rewrite_docx(name, change):
    """The real minutes DOCX, entries in their order, each re-deflated, with `change` applied."""
    src = zipfile.ZipFile(os.path.join(samples, "tac-meeting-minutes.docx"))
    entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    entries = change(entries)
    path = os.path.join(here, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for filename, data in entries:
            out.writestr(zipfile.ZipInfo(filename, FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)


VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an OLE compound file header: where VBA lives


def with_macros(entries):
    """As Word saves a .docm: a vbaProject.bin part, its relationship, a macro-enabled main part."""
    out = []
    for filename, data in entries:
        if filename == "[Content_Types].xml":
            data = data.replace(b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                b"application/vnd.ms-word.document.macroEnabled.main+xml")
            data = data.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        if filename == "word/_rels/document.xml.rels":
            data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
        out.append((filename, data))
    return out + [("word/vbaProject.bin", VBA)]


def with_renamed_macro_part(entries):
    """The VBA part under an innocent name: only [Content_Types].xml (deflated) says what it is."""
    out = []
    for filename, data in entries:
        if filename == "[Content_Types].xml":
            data = data.replace(b"</Types>", b'<Override PartName="/word/fontTable2.xml" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        if filename == "word/_rels/document.xml.rels":
            data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="fontTable2.xml"/></Relationships>')
        out.append((filename, data))
    return out + [("word/fontTable2.xml", VBA)]


def odt_with_basic():
    """An ODT as LibreOffice saves one with a Basic module in it."""
    path = os.path.join(here, "minutes-with-basic-macro.odt")
    manifest = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/Standard/script-lb.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/script-lc.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
    content = b"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:text><text:p>Minutes of the strategy discussion.</text:p></office:text></office:body></office:document-content>
"""
    module = b"""<?xml version="1.0" encoding="UTF-8"?>
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main
  Shell("calc.exe")
End Sub
</script:module>
"""
    with zipfile.ZipFile(path, "w") as out:
        out.writestr(zipfile.ZipInfo("mimetype", FIXED_TIME), b"application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        for name, data in [("content.xml", content), ("Basic/Standard/Module1.xml", module),
                           ("Basic/Standard/script-lb.xml", b"<library/>"), ("Basic/script-lc.xml", b"<libraries/>"),
                           ("META-INF/manifest.xml", manifest)]:
            out.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)


with open(os.path.join(here, "minutes-openaction-in-object-stream.pdf"), "wb") as f:
    f.write(pdf_with_script_in_object_stream())
rewrite_docx("minutes-with-macros.docx", with_macros)
rewrite_docx("minutes-macro-part-renamed.docx", with_renamed_macro_part)
rewrite_docx("minutes-redeflated.docx", lambda entries: entries)
odt_with_basic()
