$[/javascript // EC-Resume run condition: "false" skips this step, "true" runs it.
// A step is skipped only when the job named by this job's jobToRestart parameter already did the same
// step (same path through subprocedure calls). Valid ES5 with no square brackets anywhere, so the
// server's reference scanner sees one outer reference only. Every lookup is guarded: a failure here
// never fails the step, it runs it.
(function () {
    var SETTINGS = "/plugins/EC-Resume/project/resume/";
    var DEFAULT_DONE = "success";
    var DEFAULT_CHAIN = 10;
    var MAX_NESTING = 100;

    function trimmed(value) {
        if (value === undefined || value === null) {
            return "";
        }
        return String(value).replace(/^\s+|\s+$/g, "");
    }

    // getProperty answers undefined for a missing property; some servers throw instead.
    function lookup(path) {
        try {
            return trimmed(getProperty(path));
        } catch (e) {
            return "";
        }
    }

    function stepName(jobStep) {
        if (!jobStep || jobStep.stepName === undefined || jobStep.stepName === null) {
            return "";
        }
        return String(jobStep.stepName);
    }

    // deploy/jobSteps/upload: walk up through the subprocedure call steps to the top of the job.
    function stepPath(jobStep) {
        var path = "";
        var step = jobStep;
        var levels = 0;
        while (stepName(step) !== "") {
            if (levels >= MAX_NESTING) {
                return "";
            }
            path = path === "" ? stepName(step) : stepName(step) + "/jobSteps/" + path;
            step = step.parent;
            levels += 1;
        }
        return path;
    }

    // ",success,warning," so that membership is one indexOf, with no list literal.
    function outcomeSet(csv) {
        return "," + csv.toLowerCase().replace(/\s+/g, "") + ",";
    }

    function isJobReference(jobId) {
        return jobId !== "" && jobId.indexOf("/") < 0;
    }

    // Done in jobId, or skipped there because that job was itself a restart of a job where it was done.
    function doneIn(jobId, path, doneOutcomes, chainLimit) {
        var remaining = chainLimit;
        var outcome;
        while (isJobReference(jobId) && remaining > 0) {
            outcome = lookup("/jobs/" + jobId + "/jobSteps/" + path + "/outcome").toLowerCase();
            if (outcome === "") {
                return false;
            }
            if (doneOutcomes.indexOf("," + outcome + ",") >= 0) {
                return true;
            }
            if (outcome !== "skipped") {
                return false;
            }
            jobId = lookup("/jobs/" + jobId + "/jobToRestart");
            remaining -= 1;
        }
        return false;
    }

    function decide() {
        var restartOf = lookup("/myJob/jobToRestart");
        if (!isJobReference(restartOf) || typeof myJobStep === "undefined") {
            return "true";
        }
        var path = stepPath(myJobStep);
        if (path === "") {
            return "true";
        }
        var done = lookup("/myJob/resumeDoneOutcomes");
        if (done === "") {
            done = lookup(SETTINGS + "doneOutcomes");
        }
        if (done === "") {
            done = DEFAULT_DONE;
        }
        var chainLimit = parseInt(lookup(SETTINGS + "maxChainDepth"), 10);
        if (isNaN(chainLimit) || chainLimit < 1) {
            chainLimit = DEFAULT_CHAIN;
        }
        return doneIn(restartOf, path, outcomeSet(done), chainLimit) ? "false" : "true";
    }

    try {
        return decide();
    } catch (e) {
        return "true";
    }
}());
]