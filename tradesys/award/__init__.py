"""After the evaluation result: the evaluation report (评标报告) and its signatures, the
publicity of the candidates (公示), objections (异议), the award (定标) with its notices, and a
failed tender (docs/award.md)."""
