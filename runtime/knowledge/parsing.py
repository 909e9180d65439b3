"""Sources into text, with maintained parsers only: pypdf for PDF (page by page, so a
citation names its page), python-docx for DOCX, trafilatura for HTML (the main content,
not the menus). Markdown and TXT are text already. Web sources are fetched here, at index
time, through the outbound guard (runtime/outbound.py)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from xml.etree import ElementTree

from runtime import outbound

# A web page or a sitemap is read up to this size (the guard's own default is 1 MB).
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_SITEMAP_PAGES = 200
CHUNK_WORDS = 120
OVERLAP_WORDS = 20


class ParseFailed(Exception):
    """The source cannot be read; the message says why, for the builder."""


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    location: str = ""
    row: int | None = None  # a table source's row id


def _pdf(content: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ParseFailed("the PDF is encrypted")
        return [Section(page.extract_text() or "", page=number) for number, page in enumerate(reader.pages, 1)]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ParseFailed(f"not a readable PDF: {exc}") from None


def _docx(content: bytes) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise ParseFailed(f"not a readable DOCX file: {exc}") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return [Section("\n".join(parts))]


def html_text(html: str | bytes, url: str = "") -> str:
    import trafilatura

    text = trafilatura.extract(html, url=url or None, include_comments=False, include_tables=True,
                               favor_recall=True)
    return text or ""


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def parse_document(fmt: str, content: bytes) -> list[Section]:
    if fmt == "pdf":
        return _pdf(content)
    if fmt == "docx":
        return _docx(content)
    if fmt == "html":
        return [Section(html_text(content))]
    if fmt in ("md", "txt"):
        return [Section(_decode(content))]
    raise ParseFailed(f"unknown document format {fmt!r}")


def fetch(url: str) -> outbound.Reply:
    """The page at `url`, through the outbound guard; ParseFailed naming why it could not be."""
    try:
        reply = outbound.request("GET", url, max_bytes=MAX_PAGE_BYTES)
    except outbound.OutboundRefused as exc:
        raise ParseFailed(f"{url} refused: {exc}") from None
    except outbound.OutboundFailed as exc:
        raise ParseFailed(str(exc)) from None
    if reply.status != 200:
        raise ParseFailed(f"{url} answered HTTP {reply.status}")
    return reply


def parse_url(url: str) -> list[Section]:
    reply = fetch(url)
    kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/pdf":
        return [Section(s.text, s.page, reply.url) for s in _pdf(reply.body)]
    if kind in ("text/plain", "text/markdown"):
        return [Section(_decode(reply.body), location=reply.url)]
    return [Section(html_text(reply.body, reply.url), location=reply.url)]


def sitemap_urls(url: str) -> list[str]:
    reply = fetch(url)
    try:
        root = ElementTree.fromstring(reply.body)
    except ElementTree.ParseError as exc:
        raise ParseFailed(f"{url} is not a sitemap (XML): {exc}") from None
    urls = [el.text.strip() for el in root.iter() if el.tag.endswith("}loc") or el.tag == "loc"
            if el.text and el.text.strip()]
    if not urls:
        raise ParseFailed(f"{url} lists no pages (<loc>)")
    return urls[:MAX_SITEMAP_PAGES]


def parse_sitemap(url: str) -> list[Section]:
    """Every page the sitemap lists; a page that cannot be fetched is skipped, and when none
    can, the source fails with the first page's reason."""
    sections, failures = [], []
    for page_url in sitemap_urls(url):
        try:
            sections.extend(parse_url(page_url))
        except ParseFailed as exc:
            failures.append(str(exc))
    if not sections and failures:
        raise ParseFailed(f"no page of the sitemap could be read: {failures[0]}")
    return sections


# NUL and other control characters (a PDF's text layer has them) become spaces: PostgreSQL
# text cannot hold NUL.
_SPACES = re.compile(r"[ \t\r\f\v\x00-\x08\x0b\x0e-\x1f]+")
# A lone surrogate (a broken text layer) cannot be stored as UTF-8: it becomes U+FFFD.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def chunk(sections: list[Section], words: int = CHUNK_WORDS, overlap: int = OVERLAP_WORDS) -> list[Section]:
    """Passages of about `words` words, overlapping a little so an answer cut in two is still
    whole in one of them; paragraphs are kept together where they fit. Never across pages
    (nor across a table's rows: each row is a section of its own)."""
    chunks = []
    for section in sections:
        text = _SURROGATES.sub("\ufffd", section.text)
        paragraphs = [_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n|\n", text)]
        current: list[str] = []
        for paragraph in filter(None, paragraphs):
            tokens = paragraph.split(" ")
            if current and len(current) + len(tokens) > words:
                chunks.append(Section(" ".join(current), section.page, section.location, section.row))
                current = current[-overlap:] if len(tokens) < words else []
            current.extend(tokens)
            while len(current) > words:
                chunks.append(Section(" ".join(current[:words]), section.page, section.location, section.row))
                current = current[words - overlap:]
        if current:
            chunks.append(Section(" ".join(current), section.page, section.location, section.row))
    return chunks
