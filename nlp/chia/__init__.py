"""The Chia corpus: loading (brat standoff, CRLF offset fix), the split by trial, metrics."""
