"""Dialog generator backends, one module each; they register in `assistant.dialog.generator.generators`."""
