"""The Adversarial dock: attack a trained classifier, one sample and the whole test set."""
