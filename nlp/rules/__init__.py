"""Rule data (YAML) for the criteria splitter and extractors.

A package only so that setuptools ships the YAML files as package data; the files are read by
`nlp.rules_loader`, never imported.
"""
