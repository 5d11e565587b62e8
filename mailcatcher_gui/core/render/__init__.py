"""What the HTML viewer may load and show: URL classification, cid: rewriting, CSP."""
