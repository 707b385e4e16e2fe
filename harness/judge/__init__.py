"""A model judge: judged quality (reference-guided, pairwise, RAG faithfulness) and the calibration that says whether to trust it."""
