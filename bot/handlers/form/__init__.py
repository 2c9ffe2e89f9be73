"""The screens of an open form. screens.py holds the screen classes (what each screen shows and takes);
they draw with draw.py and take answers, edits and the confirm with answer.py, edit.py and confirm.py,
which draw with draw.py in turn. Nothing here imports the menu: it is reached through navigate.py."""
