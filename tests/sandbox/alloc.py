# Attack: allocate without limit (and touch every page).
chunks = []
while True:
    chunks.append(bytearray(16 << 20))
