"""One module per role: the routes each role adds to the node's application."""
