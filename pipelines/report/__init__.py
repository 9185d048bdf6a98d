"""The detector-comparison report: self-contained HTML, JSON and Markdown."""
