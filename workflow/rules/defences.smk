# Defences (method §2, §3 Table 2): every defended classifier is trained and measured like the vanilla
# ones (train.smk, zero_shot.smk); this stage compares them with paired t-tests.


rule table2:
    input:
        rules.aggregate.output.per_class,
    output:
        table2=f"{R}/tables/table2.csv",
        table2_md=f"{R}/tables/table2.md",
        figures=[
            report(f"{R}/figures/{d}/defences.png", caption="../report/defences.rst", category="Defences", labels={"figure": "DBM and AM per defence", "dataset": d})
            for d in defended_datasets()
        ],
    params:
        datasets=defended_datasets(),
        code=code("table2"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/table2.log",
    script:
        "../scripts/table2.py"
