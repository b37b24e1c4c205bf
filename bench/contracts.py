"""Benchmark: render and sign a 10-page Chinese contract against WeasyPrint alone, in one run.

    .venv/bin/python bench/contracts.py [--rounds 3] [--pages 10]

What it does:

1. builds contract facts whose negotiated clauses fill the requested number of A4 pages
   (Chinese text, the works template), makes a built-in CA (root, issuing CA, TSA) and two
   signers' P-256 keys and certificates;
2. baseline: WeasyPrint alone lays out the same HTML (``contract_html``) to a PDF;
3. project: the whole contract path: the template rendered to PDF with both signature fields,
   then for each party the seal appearance, the prepared signature (byte-range digest, CMS
   signed attributes), the signer's ECDSA signature, the embedded CMS with its RFC 3161
   timestamp, the DSS with CRLs and OCSP (B-LT), and after the second a document timestamp
   (B-LTA); the result is checked once by ``verify_contract`` (not timed);
4. prints the median time of each over ``--rounds`` rounds and the ratio. Target: ≤ 2×.

Exit status: 0 when the signed contract verifies (whether or not the target is met), 1 if not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

# This file is named like the package it measures: drop its own folder from the path so that
# ``import contracts`` finds the package, and put the checkout first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != _HERE)]

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402

from contracts import generation, signing  # noqa: E402
from contracts.facts import ContractFacts  # noqa: E402
from contracts.pki import CertificateAuthority, SignerName  # noqa: E402
from contracts.verify import verify_contract  # noqa: E402
from tradesys.identity.credit_code import make_credit_code  # noqa: E402

PARAGRAPH = ("承包人应按照合同约定的工期、质量标准和安全文明施工要求组织施工，"
             "编制施工组织设计和专项施工方案，报监理人审查后实施；发包人应按约定提供施工场地、水电接口和测量基准点，并按期支付工程款。"
             "双方对计量、变更、索赔和验收的争议，应先协商解决，协商不成的提交工程所在地仲裁委员会仲裁。")


def _facts(clauses: int) -> ContractFacts:
    body = {
        "award_id": "BENCH-0001", "trade_type": "works",
        "project": {"code": "GC-BENCH", "name": "滨江大道改造工程"},
        "section": {"code": "GC-BENCH-01", "name": "第一标段"},
        "purchaser": {"name": "滨江城市建设投资有限公司",
                      "credit_code": make_credit_code("91110000MA0000001")},
        "supplier": {"name": "华东路桥建设集团有限公司",
                     "credit_code": make_credit_code("91110000MA0000002")},
        "subject": "滨江大道（一期）道路、排水及照明工程施工。", "price": "35200000.00",
        "duration_days": 365, "quality": "一次验收合格。",
        "clauses": [{"title": f"专用条款 {n + 1}", "text": "\n".join([PARAGRAPH] * 3)}
                    for n in range(clauses)],
        "awarded_at": "2026-03-01T01:00:00Z",
    }
    import json
    return ContractFacts.model_validate_json(json.dumps(body))


def _pages(pdf: bytes) -> int:
    return len(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    from weasyprint import HTML

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    clauses = 1
    facts = _facts(clauses)
    while _pages(generation.contract_pdf(facts)) < args.pages:
        clauses += 2
        facts = _facts(clauses)
    html = generation.contract_html(facts)
    ca = CertificateAuthority.create(now, base_url="http://127.0.0.1:8000/api/v1/contracts/ca")
    chain = [ca.issuing, ca.root]
    parties = []
    for field, party in zip(generation.FIELDS, (facts.purchaser, facts.supplier), strict=True):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = ca.issue(key.public_key(), SignerName("张三", party.name, party.credit_code), now)
        parties.append((field, party, key, cert))
    der = serialization.Encoding.DER

    def baseline() -> bytes:
        pdf = HTML(string=html).write_pdf()
        assert pdf is not None
        return pdf

    def project() -> bytes:
        pdf = generation.contract_pdf(facts)
        for index, (field, party, key, cert) in enumerate(parties):
            prepared = signing.prepare(pdf, field=field, cert=cert, chain=chain,
                                       certify=index == 0, signer_name="张三",
                                       organization=party.name, at=now)
            signature = key.sign(prepared.signed_attributes, ec.ECDSA(hashes.SHA256()))
            validation = signing.ValidationData(
                [ca.issuing, ca.root, ca.tsa],
                [ca.crl([], now, number=index + 1).public_bytes(der),
                 ca.root_crl(now).public_bytes(der)],
                [ca.ocsp_response(cert, None, now).public_bytes(der)])
            pdf = signing.complete(prepared, signature, cert=cert, chain=chain,
                                   timestamper=signing.builtin_timestamper(
                                       ca.tsa_key, ca.tsa, chain, now),
                                   validation=validation, trust_roots=[ca.root],
                                   last=index == 1, at=now)
        return pdf

    baseline()  # warm-up: fonts, caches
    signed = project()
    report = verify_contract(signed, [ca.root])
    times: dict[str, list[float]] = {"weasyprint": [], "contract": []}
    for _ in range(args.rounds):
        for name, run in (("weasyprint", baseline), ("contract", project)):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    base, full = (statistics.median(times[n]) for n in ("weasyprint", "contract"))
    print(f"contract: {_pages(signed)} pages, {len(facts.clauses)} negotiated clauses, "
          f"{len(signed) / 1024:.0f} KiB signed; verifies: {report.ok}")
    print(f"WeasyPrint alone (same HTML)          {base:7.3f} s  (median of {args.rounds})")
    print(f"render + 2 signatures (B-LT, B-LTA)   {full:7.3f} s")
    print(f"ratio                                 {full / base:7.2f}x  (target <= 2x)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
