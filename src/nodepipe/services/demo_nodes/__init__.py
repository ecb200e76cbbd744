"""Code of the demo pipeline's nodes (copied into node folders by `nodepipe demo`)."""
