"""Rule files of the patient-note NLP (YAML, loaded strictly by nlp/notes/schema.py)."""
