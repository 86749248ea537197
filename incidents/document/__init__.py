"""Print-ready documents and PDFs: the Review Report, the published report, the OPSG pack."""
