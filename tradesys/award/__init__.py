"""After the evaluation result: the evaluation report (评标报告) and its signatures
(docs/award.md). Publicity, objections and the award are not built yet."""
