"""The PDF brief: a project rendered with Jinja2 and xhtml2pdf."""
