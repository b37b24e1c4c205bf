"""The committee's composition checked against the procedure's rule book (法 Art. 37)."""

from __future__ import annotations

from tradesys.errors import Invalid
from tradesys.procurement.rules import PeriodRules


def check_composition(size: int, representatives: int, rules: PeriodRules) -> int:
    """The number of experts to draw, or ``panel_rules_broken`` naming every rule broken."""
    problems: list[str] = []
    if size < rules.panel_min_size:
        problems.append(f"评标委员会成员不得少于 {rules.panel_min_size} 人 (the committee has at "
                        f"least {rules.panel_min_size} members; 法 Art. 37)")
    if rules.panel_size_odd and size % 2 == 0:
        problems.append("评标委员会成员人数须为单数 (the committee has an odd number of members; "
                        "法 Art. 37)")
    experts = size - representatives
    num, den = rules.panel_min_expert_numerator, rules.panel_min_expert_denominator
    if experts < 1 or experts * den < num * size:
        problems.append(f"技术、经济等方面的专家不得少于成员总数的 {num}/{den} (experts are at "
                        f"least {num}/{den} of the members; 法 Art. 37)")
    if problems:
        raise Invalid("panel_rules_broken", "；".join(problems), details=problems)
    return experts
