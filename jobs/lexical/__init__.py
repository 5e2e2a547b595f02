"""Payload rich text (Lexical JSON) turned into safe HTML and Markdown."""
