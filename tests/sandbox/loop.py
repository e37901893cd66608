# Attack: loop forever.
while True:
    pass
