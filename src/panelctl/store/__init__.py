"""The encrypted git store: records, transactions, git plumbing, the query index, verification, history."""
