"""The billing report finance checks: Cloudmore's totals beside what Autotask bills, per customer and month.

:mod:`engine.report.model` computes it (pure); :mod:`engine.report.views` writes text, Markdown and
CSV; :mod:`engine.report.html` writes one self-contained HTML page.
"""
