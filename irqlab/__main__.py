from irqlab.cli import main

main()
