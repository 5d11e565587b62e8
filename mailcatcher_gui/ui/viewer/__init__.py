"""The message viewer: the header strip and one tab per view of a message
(HTML, Text, Headers, Source, Structure, Attachments, Session, Checks)."""
