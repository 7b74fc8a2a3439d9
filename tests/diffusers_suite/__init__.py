"""diffusers' own tests of the classes gandiff shares with it, ported (issue 15); see each file's header."""
