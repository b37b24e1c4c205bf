"""Pure parts of the contract step: facts, the CA's certificates and revocation answers, the
signature encoding, the seal and the template (no database)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from pydantic import ValidationError

from contracts.facts import Clause, ContractFacts, with_clauses
from contracts.generation import contract_html
from contracts.pki import CertificateAuthority, Revoked, SignerName, organization_identifier
from contracts.seal import seal_html
from contracts.signing import SigningRefused, check_signature, der_signature
from tradesys.identity.credit_code import make_credit_code

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
A = make_credit_code("91110000MA0000001")
B = make_credit_code("91110000MA0000002")


def facts(**extra: object) -> ContractFacts:
    value = {"award_id": "AWD-1", "trade_type": "goods",
             "project": {"code": "P-1", "name": "办公设备采购"},
             "section": {"code": "P-1-01", "name": "第一包"},
             "purchaser": {"name": "某市财政局", "credit_code": A},
             "supplier": {"name": "某某科技有限公司", "credit_code": B},
             "subject": "台式计算机 200 台", "price": "1234567.80", "duration_days": 30,
             "quality": "全新原厂正品", "awarded_at": "2026-03-01T01:00:00Z", **extra}
    return ContractFacts.model_validate_json(json.dumps(value))


def test_facts_refuse_the_same_party_twice_a_bad_price_and_a_bad_credit_code() -> None:
    with pytest.raises(ValidationError, match="同一单位"):
        facts(supplier={"name": "某市财政局", "credit_code": A})
    with pytest.raises(ValidationError, match="金额"):
        facts(price="1,234,567.80")
    with pytest.raises(ValidationError, match="统一社会信用代码"):
        facts(supplier={"name": "x", "credit_code": B[:-1] + ("0" if B[-1] != "0" else "1")})


def test_a_new_draft_changes_only_the_clauses() -> None:
    original = facts()
    draft = with_clauses(original, [Clause(title="验收", text="到货后七日内验收。")])
    assert draft.model_dump(exclude={"clauses"}) == original.model_dump(exclude={"clauses"})
    assert [c.title for c in draft.clauses] == ["验收"]


def test_the_template_shows_the_capital_amount_and_escapes_every_value() -> None:
    html = contract_html(facts(clauses=[{"title": "<b>条款</b>", "text": "<script>x</script>"}]))
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角整" in html
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>条款" not in html
    assert "政府采购合同" in html and "采购人" in html


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create(NOW, base_url="https://ts.example/api/v1/contracts/ca")


def test_a_signers_certificate_binds_the_key_to_the_user_and_the_credit_code(
        ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue(key.public_key(), SignerName("张三", "某市财政局", A), NOW)
    assert organization_identifier(cert) == A
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "张三"
    cert.verify_directly_issued_by(ca.issuing)
    ca.issuing.verify_directly_issued_by(ca.root)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.not_valid_after_utc - NOW > timedelta(days=700)
    with pytest.raises(ValueError, match="P-256"):
        ca.issue(rsa.generate_private_key(65537, 2048).public_key(),  # type: ignore[arg-type]
                 SignerName("张三", "某市财政局", A), NOW)
    tsa_usage = ca.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_usage.critical and x509.ExtendedKeyUsageOID.TIME_STAMPING in tsa_usage.value


def test_crl_and_ocsp_tell_a_revoked_certificate(ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue(key.public_key(), SignerName("李四", "某某科技有限公司", B), NOW)
    crl = ca.crl([Revoked(cert.serial_number, NOW)], NOW, number=7)
    assert crl.is_signature_valid(ca.issuing.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    revoked = ca.ocsp_response(cert, NOW, NOW)
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert ca.ocsp_response(cert, None, NOW).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert ca.root_crl(NOW).is_signature_valid(ca.root.public_key())  # type: ignore[arg-type]


def test_the_ca_is_kept_in_private_files_and_loads_back(tmp_path: Path) -> None:
    folder = tmp_path / "keys" / "contract-ca"
    made = CertificateAuthority.load_or_create(folder, NOW, base_url="https://ts.example")
    again = CertificateAuthority.load_or_create(folder, NOW, base_url="https://ts.example")
    assert again.root == made.root and again.tsa == made.tsa
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("root.pem", "issuing.pem", "tsa.pem"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600


def test_processes_creating_the_ca_at_once_all_get_the_same_one(tmp_path: Path) -> None:
    """Several server processes' first contract requests at the same moment: each finds no CA
    and makes one (the threads pass the existence check together, then spend the key
    generation's time apart); the rename decides, and every caller ends up with one CA."""
    import threading

    folder = tmp_path / "keys" / "contract-ca"
    start = threading.Barrier(3)
    made: list[CertificateAuthority] = []

    def first_request() -> None:
        start.wait()
        made.append(CertificateAuthority.load_or_create(folder, NOW, base_url="https://t.example"))

    threads = [threading.Thread(target=first_request) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(made) == 3
    assert len({ca.root.serial_number for ca in made}) == 1
    assert len({ca.tsa.serial_number for ca in made}) == 1
    stored = CertificateAuthority.load(folder, base_url="https://t.example")
    assert stored.root == made[0].root
    assert sorted(p.name for p in folder.parent.iterdir()) == ["contract-ca"]  # no staging left


def test_webcrypto_raw_signatures_become_der_and_junk_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.sign(b"attributes", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert der_signature(raw) == der and der_signature(der) == der
    for junk in (b"", b"\x00" * 63, b"\x01" * 80):
        with pytest.raises(SigningRefused):
            der_signature(junk)
    ca = CertificateAuthority.create(NOW, base_url="https://ts.example")
    cert = ca.issue(key.public_key(), SignerName("张三", "某市财政局", A), NOW)
    assert check_signature(cert, b"attributes", raw) == der
    with pytest.raises(SigningRefused) as refused:
        check_signature(cert, b"other attributes", raw)
    assert refused.value.code == "bad_signature"


def test_the_seal_escapes_the_organisation_name() -> None:
    html = seal_html("<img src=x>有限公司", "张三", NOW)
    assert "<img" not in html and "&lt;" in html
    assert "张三" in html and "2026-03-02 09:00:00" in html


def test_verify_contract_checks_nothing_without_a_trust_root(tmp_path: Path) -> None:
    """No --trust and no built-in CA: exit 2, and no CA is created by verifying."""
    import os
    import subprocess
    import sys

    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    env = {**os.environ, "TRADESYS_DATA_DIR": str(tmp_path / "var")}
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "tradesys.cli", "verify", "contract", str(pdf)],
                          capture_output=True, text=True, env=env, cwd=repo, timeout=60)
    assert done.returncode == 2 and "no trust root" in done.stderr
    assert not (tmp_path / "var").exists()
    root = tmp_path / "root.pem"
    from contracts.pki import certificate_pem
    root.write_text(certificate_pem(CertificateAuthority.create(
        NOW, base_url="https://ts.example").root), encoding="ascii")
    done = subprocess.run([sys.executable, "-m", "tradesys.cli", "verify", "contract", str(pdf),
                           "--trust", str(root)], capture_output=True, text=True, env=env,
                          cwd=repo, timeout=60)
    assert done.returncode == 1 and "NOT VALID" in done.stderr


def test_configured_trust_roots_are_trusted_besides_the_built_in_root(tmp_path: Path) -> None:
    """TRADESYS_CONTRACT_TRUST_ROOTS: every PEM certificate of the file is a further root; a
    file without one is an operator's mistake, refused with its name."""
    from contracts.pki import certificate_pem
    from contracts.services import load_authority
    from tradesys.settings import Settings

    external = [CertificateAuthority.create(NOW, base_url="http://ca.example/x").root
                for _ in range(2)]
    roots = tmp_path / "roots.pem"
    roots.write_text("external CA roots\n" + "".join(certificate_pem(c) for c in external),
                     encoding="ascii")
    settings = Settings(data_dir=tmp_path / "data", contract_trust_roots=str(roots),
                        public_url="https://ts.example/")
    authority = load_authority(settings, NOW)
    assert authority.trust_roots == [authority.ca.root, *external]
    assert authority.ca.base_url == "https://ts.example/api/v1/contracts/ca"
    assert load_authority(Settings(data_dir=tmp_path / "data"), NOW).trust_roots == [
        authority.ca.root]  # the same CA, loaded again; no extra roots by default
    roots.write_text("nothing here\n", encoding="ascii")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        load_authority(settings, NOW)
