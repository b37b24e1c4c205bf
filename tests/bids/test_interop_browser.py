# ruff: noqa: E501  (the JavaScript run in the page is kept on readable lines)
"""static/js/envelope.js in Debian's chromium agrees with tradesys.bids byte for byte.

Self-contained (no database, no app): a plain HTTP server thread serves static/ on 127.0.0.1 (a
module script and WebCrypto need http://localhost-like origins, not file://), and Playwright's
sync API drives /usr/bin/chromium. Proves: the committed vectors seal to the same bytes in the
browser; an envelope sealed in Python opens in the browser (bidder share unwrapped with a
non-extractable key); an envelope sealed in the browser, with a key generated, stored in
IndexedDB and backed up there, opens in Python; canonical JSON is identical and refuses
integers beyond ±(2^53−1) on both sides; the §10 holder shares unwrap to the same released form.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.bids.vectors import PATH as VECTORS_PATH
from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.envelope import ROLE_BIDDER, ROLE_OPENING, parse_header
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keys import load_backup, private_key_from_scalar, public_key_bytes
from tradesys.bids.open import combine, decrypt, open_summary, unwrap_share
from tradesys.bids.seal import seal
from tradesys.bids.summary import encode_summary
from tradesys.events.canonical import NotCanonical, canonical_json

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "tradesys" / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
BLANK = b"<!doctype html><meta charset=utf-8><title>envelope test</title>"


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/blank.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(BLANK)))
            self.end_headers()
            self.wfile.write(BLANK)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler,
                                                                       directory=str(STATIC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test-deps)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/blank.html")
    page.evaluate("async () => { window.env = await import('/js/envelope.js'); }")
    yield page
    context.close()
    assert errors == []


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Runs an async JS function body with ``env`` (the module) and ``arg`` in scope."""
    return page.evaluate(f"async (arg) => {{ const env = window.env; {body} }}", arg)


def key_of(vector_key: dict[str, str]):  # type: ignore[no-untyped-def]
    return private_key_from_scalar(int.from_bytes(unb64u(vector_key["d"]), "big"))


def test_vectors_seal_to_the_same_bytes_in_chromium(page: Page) -> None:
    for case in VECTORS["cases"]:
        sealed = run(page, """
            const v = arg.vectors, c = arg.case;
            const plain = Uint8Array.from({length: c.plaintext_size}, (_, i) => (i * 7 + 3) % 251);
            const {blob} = await env.seal(plain, v.summary, {
                sectionCode: v.section_code, bidderCode: v.bidder_code,
                bidderPublicKey: v.bidder_key.public_key, openingPublicKey: v.opening_key.public_key,
                chunkSize: v.chunk_size, randomness: c.randomness});
            return env.b64u(new Uint8Array(await blob.arrayBuffer()));
        """, {"vectors": VECTORS, "case": case})
        assert sealed == case["envelope"], f"size {case['plaintext_size']}"


def test_python_envelope_opens_in_chromium(page: Page) -> None:
    data = os.urandom(3 * 4096 + 1234)
    bidder_key, opening_key = key_of(VECTORS["bidder_key"]), key_of(VECTORS["opening_key"])
    summary = {**VECTORS["summary"], "project_manager": "王五 🏗"}
    out = io.BytesIO()
    seal(io.BytesIO(data), len(data), out, section_code="S-PY", bidder_code="B-PY",
         bidder_public_key=public_key_bytes(bidder_key),
         opening_public_key=public_key_bytes(opening_key), summary=summary, chunk_size=4096)
    header = parse_header(out.getvalue())
    opening_share = unwrap_share(header, ROLE_OPENING, opening_key)
    result = run(page, """
        const key = await env.importPrivateKeyJwk(arg.key);   // non-extractable
        const blob = new Blob([env.unb64u(arg.envelope)]);
        const header = await env.readHeader(blob);
        const share = await env.unwrapShare(header, "bidder", key, arg.key.public_key);
        const keys = await env.combine(header, share, env.unb64u(arg.openingShare));
        const summary = await env.openSummary(header, keys);
        const plain = await env.decrypt(blob, keys, header);
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await plain.arrayBuffer()));
        return {extractable: key.extractable, share: env.b64u(share), summary,
                section: header.sectionCode, bidder: header.bidderCode,
                sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")};
    """, {"key": VECTORS["bidder_key"], "envelope": b64u(out.getvalue()),
          "openingShare": b64u(opening_share)})
    assert result["extractable"] is False
    assert result["share"] == b64u(unwrap_share(header, ROLE_BIDDER, bidder_key))
    assert result["summary"] == summary
    assert (result["section"], result["bidder"]) == ("S-PY", "B-PY")
    assert result["sha256"] == hashlib.sha256(data).hexdigest()


def test_chromium_envelope_opens_in_python(page: Page) -> None:
    password = "浏览器 backup pw"
    opening_key = key_of(VECTORS["opening_key"])
    summary = {**VECTORS["summary"], "price": "100.01", "quality": "优良"}
    result = run(page, """
        const made = await env.generateBidderKey(arg.password);
        await env.saveKeyPair("bidder", made);
        const stored = await env.loadKeyPair("bidder");
        const size = 4 * 4096 + 100;
        const plain = new Uint8Array(size);
        for (let i = 0; i < size; i += 65536) crypto.getRandomValues(plain.subarray(i, i + 65536));
        const {blob, header} = await env.seal(new Blob([plain]), arg.summary, {
            sectionCode: "S-JS", bidderCode: "B-JS", bidderPublicKey: stored.publicKey,
            openingPublicKey: arg.opening, chunkSize: 4096});
        const share = await env.unwrapShare(header, "bidder", stored.privateKey, stored.publicKey);
        let exportError = null;
        try { await crypto.subtle.exportKey("pkcs8", stored.privateKey); }
        catch (error) { exportError = error.name; }
        return {envelope: env.b64u(new Uint8Array(await blob.arrayBuffer())),
                plain: env.b64u(plain), backup: made.backup, share: env.b64u(share),
                publicKey: env.b64u(stored.publicKey), extractable: stored.privateKey.extractable,
                exportError};
    """, {"password": password, "summary": summary,
          "opening": VECTORS["opening_key"]["public_key"]})
    assert result["extractable"] is False and result["exportError"] == "InvalidAccessError"
    assert result["backup"]["iterations"] >= 600_000
    bidder_key = load_backup(result["backup"], password.encode())
    assert b64u(public_key_bytes(bidder_key)) == result["publicKey"]
    envelope = unb64u(result["envelope"])
    header = parse_header(envelope)
    assert (header.section_code, header.bidder_code) == ("S-JS", "B-JS")
    bidder_share = unwrap_share(header, ROLE_BIDDER, bidder_key)
    assert b64u(bidder_share) == result["share"]
    key = combine(header, bidder_share, unwrap_share(header, ROLE_OPENING, opening_key))
    assert open_summary(header, key) == summary
    out = io.BytesIO()
    decrypt(header, key, io.BytesIO(envelope[header.header_len:]), out)
    assert out.getvalue() == unb64u(result["plain"])


def test_key_backup_vector_imports_in_chromium(page: Page) -> None:
    vector = VECTORS["key_backup"]
    result = run(page, """
        const pair = await env.importBackup(arg.backup, arg.password);
        let wrong = null;
        try { await env.importBackup(arg.backup, "wrong"); } catch (error) { wrong = error.code; }
        return {publicKey: env.b64u(pair.publicKey), extractable: pair.privateKey.extractable, wrong};
    """, vector)
    assert result == {"publicKey": vector["key"]["public_key"], "extractable": False,
                      "wrong": "bad_password"}


def test_tampering_fails_in_chromium(page: Page) -> None:
    case = VECTORS["cases"][-1]
    result = run(page, """
        const bytes = env.unb64u(arg.case.envelope);
        const header = await env.parseHeader(bytes);
        const keys = await env.combine(header, env.unb64u(arg.case.randomness.bidder_share),
                                       env.unb64u(arg.case.opening_share));
        const codes = {};
        const tampered = bytes.slice(); tampered[header.headerLen + 5] ^= 1;
        try { await env.decrypt(new Blob([tampered]), keys, header); } catch (e) { codes.chunk = e.code; }
        try { await env.decrypt(new Blob([bytes.slice(0, -1)]), keys, header); } catch (e) { codes.cut = e.code; }
        const stranger = (await crypto.subtle.generateKey({name: "ECDH", namedCurve: "P-256"}, false, ["deriveBits"])).privateKey;
        try { await env.unwrapShare(header, "bidder", stranger); } catch (e) { codes.key = e.code; }
        try { await env.combine(header, new Uint8Array(32), env.unb64u(arg.case.opening_share)); } catch (e) { codes.share = e.code; }
        try { await env.seal(new Uint8Array(1), {price: 1}, {sectionCode: "S", bidderCode: "B",
              bidderPublicKey: arg.bidder, openingPublicKey: arg.opening, chunkSize: 4096}); }
        catch (e) { codes.summary = e.code; }
        return codes;
    """, {"case": case, "bidder": VECTORS["bidder_key"]["public_key"],
          "opening": VECTORS["opening_key"]["public_key"]})
    assert result == {"chunk": "chunk_auth_failed", "cut": "truncated", "key": "unwrap_failed",
                      "share": "share_mismatch", "summary": "bad_summary"}


CANONICAL_CASES: list[Any] = [
    {"b": 1, "a": [True, False, None, -5, 0], "": "empty key"},
    {"ctl": "\x00\x01\x1f\x7f\b\f\n\r\t\"\\/", "line": "\u2028\u2029", "cjk": "招标，投标。"},
    {"\uffff": 1, "😀": 2, "\ue000": 3, "z": 4, "é": 5},  # code point order, not UTF-16 order
    {"nested": {"y": [{"k": "v"}, []], "x": {}}, "big": 9007199254740991},
]


def test_canonical_json_is_identical(page: Page) -> None:
    js = run(page, "return arg.map((v) => env.canonicalJson(v));", CANONICAL_CASES)
    assert [s.encode("utf-8") for s in js] == [canonical_json(v) for v in CANONICAL_CASES]
    assert VECTORS["summary_canonical"] == run(page, "return env.canonicalJson(arg);",
                                               VECTORS["summary"])


def test_threshold_vectors_unwrap_to_the_same_released_shares_in_chromium(page: Page) -> None:
    """§10: every wrapped holder share of the vectors opens in the browser (non-extractable
    holder key) to byte-identical released JSON; tampering and a wrong key are refused."""
    result = run(page, """
        const out = [];
        for (const c of arg.threshold) {
            for (const s of c.shares) {
                const jwk = c.holder_keys[s.index - 1];
                const key = await env.importPrivateKeyJwk(jwk);
                const released = await env.unwrapHolderShare(s.wrapped, key, jwk.public_key);
                const codes = {};
                const flipped = env.unb64u(s.wrapped.ciphertext); flipped[3] ^= 1;
                for (const [name, change] of [["ciphertext", {ciphertext: env.b64u(flipped)}],
                                              ["section", {section: "OTHER-SECTION"}],
                                              ["index", {index: s.index % c.count + 1}],
                                              ["threshold", {threshold: c.count + 1}],
                                              ["format", {format: "x"}]]) {
                    try { await env.unwrapHolderShare({...s.wrapped, ...change}, key); codes[name] = null; }
                    catch (e) { codes[name] = e.code; }
                }
                const other = c.holder_keys[s.index % c.count];
                try { await env.unwrapHolderShare(s.wrapped, key, other.public_key); } catch (e) { codes.named = e.code; }
                try { await env.unwrapHolderShare(s.wrapped, await env.importPrivateKeyJwk(other)); } catch (e) { codes.other = e.code; }
                out.push({canonical: env.canonicalJson(released), extractable: key.extractable, codes});
            }
        }
        return out;
    """, {"threshold": VECTORS["threshold"]})
    expected = [share for case in VECTORS["threshold"] for share in case["shares"]]
    assert len(result) == len(expected) == 8
    for got, share in zip(result, expected, strict=True):
        assert got["canonical"].encode() == canonical_json(share["released"])
        assert got["extractable"] is False
        assert got["codes"] == {"ciphertext": "unwrap_failed", "section": "unwrap_failed",
                                "index": "unwrap_failed", "threshold": "bad_share",
                                "format": "bad_share", "named": "wrong_key",
                                "other": "unwrap_failed"}


def test_integers_beyond_2_53_are_refused_on_both_sides(page: Page) -> None:
    vector = VECTORS["canonical_json"]
    result = run(page, """
        const codes = arg.refused.map((text) => {
            try { env.canonicalJson(JSON.parse(text)); return null; } catch (e) { return e.code; }
        });
        let summary = null;
        try { env.encodeSummary({...arg.summary, items: [2 ** 53]}); } catch (e) { summary = e.code; }
        return {codes, summary, safe: env.canonicalJson(JSON.parse(arg.safe.text))};
    """, {**vector, "safe": vector["largest_safe_integers"], "summary": VECTORS["summary"]})
    assert result == {"codes": ["bad_json"] * len(vector["refused"]), "summary": "bad_summary",
                      "safe": vector["largest_safe_integers"]["canonical"]}
    for text in vector["refused"]:  # and Python refuses the same documents
        with pytest.raises(NotCanonical):
            canonical_json(json.loads(text))
    with pytest.raises(EnvelopeError) as caught:
        encode_summary({**VECTORS["summary"], "items": [2**53]})
    assert caught.value.code == "bad_summary"
