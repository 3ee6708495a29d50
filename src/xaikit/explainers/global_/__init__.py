"""Global explanations: importance, effects, interactions and surrogate rules of a model as a whole."""
