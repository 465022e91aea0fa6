"""The round's report: HTML that prints well, and XLSX workbooks of its tables."""
