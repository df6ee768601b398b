"""Intent models: one readable file each (lstm, transformer, minilm, tfidf), sharing base.py."""
